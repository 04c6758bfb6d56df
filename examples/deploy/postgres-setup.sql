-- The database account and the two databases of the lab's MLflow server. Run once, as
-- PostgreSQL's superuser (the admin page says how). \password asks for the account's
-- password (the one in /etc/mlflow/pgpass) twice, and sends PostgreSQL only its SCRAM
-- hash: the password itself is in no statement, so in no log, file or command line.
CREATE ROLE mlflow LOGIN;
\password mlflow
-- Runs, parameters, metrics:
CREATE DATABASE mlflow OWNER mlflow;
-- Users, their password hashes and their permissions:
CREATE DATABASE mlflow_auth OWNER mlflow;
-- Nobody else may even connect to them.
REVOKE ALL ON DATABASE mlflow FROM PUBLIC;
REVOKE ALL ON DATABASE mlflow_auth FROM PUBLIC;
