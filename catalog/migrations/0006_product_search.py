"""Full-text product search kept by the database (catalog/search.py): a tsvector column,
its trigger and GIN index on PostgreSQL; FTS5 tables and triggers on SQLite. Kept out of the
model state on purpose, like the trigram index of 0003."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from catalog.search import search_index_install, search_index_remove


def install(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    search_index_install(schema_editor.connection)


def remove(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    search_index_remove(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0005_product_browsable_by_name_idx")]

    operations = [migrations.RunPython(install, remove, elidable=False)]
