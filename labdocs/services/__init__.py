"""What the tests start and stop: processes, throwaway MLflow servers, the lab's deployment,
Slurm, the network guard and the lab's address routed to them.

Usable without pytest (the benchmarks and drills start them too): imports the lab's facts
and nothing of the browser, the pages, the plugin or pytest (ruff enforces it,
labdocs/services/ruff.toml).
"""
