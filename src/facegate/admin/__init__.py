"""What the admin API and the web UI run on: users, logins, roles, applications and mail."""
