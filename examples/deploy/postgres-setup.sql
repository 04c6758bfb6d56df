-- The database account and the two databases of the lab's MLflow server. Run once, as
-- PostgreSQL's superuser:   sudo -u postgres psql -v ON_ERROR_STOP=1 -f postgres-setup.sql
-- It asks for the new account's password (the one in /etc/mlflow/pgpass): no password is
-- written into this file or onto a command line.
\prompt 'Password for the database account mlflow: ' password
CREATE ROLE mlflow LOGIN PASSWORD :'password';
\unset password
-- Runs, parameters, metrics:
CREATE DATABASE mlflow OWNER mlflow;
-- Users, their password hashes and their permissions:
CREATE DATABASE mlflow_auth OWNER mlflow;
-- Nobody else may even connect to them.
REVOKE ALL ON DATABASE mlflow FROM PUBLIC;
REVOKE ALL ON DATABASE mlflow_auth FROM PUBLIC;
