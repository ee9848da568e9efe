from django.db import migrations

from shopsmart.accounts.roles import roles_sync


class Migration(migrations.Migration):
    """Merchandisers design, start and stop experiments; analysts read them."""

    dependencies = [
        ("accounts", "0002_verified_email"),
        ("recommender", "0009_experiments"),
    ]

    operations = [migrations.RunPython(roles_sync, migrations.RunPython.noop)]
