"""tests/lib/rtmpose_training.py (with the real MMPose only: nox -s mmpose runs it): the fake
COCO set it writes has the images its annotations name, every keypoint of a person, and
validation persons of COCO's medium and large areas."""

from __future__ import annotations

import json

import pytest

rtmpose_training = pytest.importorskip(
    "tests.lib.rtmpose_training", reason="needs the real MMPose stack (nox -s mmpose)"
)


def test_the_fake_coco_names_its_images_and_every_keypoint(tmp_path):
    rtmpose_training.write_fake_coco(tmp_path, train_images=4)
    train = json.loads((tmp_path / "train.json").read_text())
    val = json.loads((tmp_path / "val.json").read_text())
    assert len(train["images"]) == 4 and len(val["images"]) == 2
    for coco in (train, val):
        for image in coco["images"]:
            assert (tmp_path / "images" / image["file_name"]).stat().st_size > 0
        for person in coco["annotations"]:
            assert len(person["keypoints"]) == 3 * len(coco["categories"][0]["keypoints"])
    areas = sorted(person["area"] for person in val["annotations"])
    assert 32**2 <= areas[0] < 96**2 <= areas[1]  # COCO's medium, then large
