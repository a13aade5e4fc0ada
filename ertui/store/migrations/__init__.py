"""Alembic revisions for the store. HEAD_REVISION must name the newest one."""

HEAD_REVISION = "0005"
