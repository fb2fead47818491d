-- facegate's PostgreSQL role and database (docs/deploy.md, "PostgreSQL"), as the server's
-- superuser: sudo -u postgres psql -v ON_ERROR_STOP=1 -f deploy/postgres.sql
-- Owning its database, the role creates facegate's tables in it (`facegate db upgrade`).
CREATE ROLE facegate LOGIN PASSWORD 'CHANGE-ME';
CREATE DATABASE facegate OWNER facegate;
