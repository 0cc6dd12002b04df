"""Alembic's environment for the gradebook.

rnngrade runs it itself (autograder.gradebook.upgrade), handing over a connection that is
already inside the transaction holding the schema lock: the migrations then run in that
transaction and commit with it. Run by the `alembic` command (to write a new revision,
see README.md in this folder) it opens its own connection to `-x db=URL`.
"""
from alembic import context
from sqlalchemy import create_engine

from autograder.gradebook import Base, database_url

config = context.config
target_metadata = Base.metadata


def _configure(**kwargs):
    # SQLite alters a table by copying it ("batch" mode); autogenerate writes such operations.
    context.configure(target_metadata=target_metadata, compare_type=True,
                      render_as_batch=kwargs.get("dialect_name", "") == "sqlite", **kwargs)


def run_offline() -> None:
    url = database_url(context.get_x_argument(as_dictionary=True).get("db", "gradebook.db"))
    _configure(url=url, literal_binds=True, dialect_name=url.split(":")[0].split("+")[0])
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection, dialect_name=connection.dialect.name)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = database_url(context.get_x_argument(as_dictionary=True).get("db", "gradebook.db"))
    engine = create_engine(url)
    with engine.connect() as connection:
        _configure(connection=connection, dialect_name=connection.dialect.name)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
