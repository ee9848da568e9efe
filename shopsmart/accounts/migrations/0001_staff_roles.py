from typing import Any

from django.db import migrations

from shopsmart.accounts.roles import roles_sync


def token_holders_keep_access(apps: Any, schema_editor: Any) -> None:
    """Before roles, any token acted for any visitor: the users holding one keep that right
    (as the API client role), so no running integration breaks."""
    Group = apps.get_model("auth", "Group")
    Token = apps.get_model("authtoken", "Token")
    api_clients = Group.objects.get(name="API client")
    for token in Token.objects.select_related("user").filter(user__is_superuser=False):
        token.user.groups.add(api_clients)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("authtoken", "0004_alter_tokenproxy_options"),
        ("catalog", "0009_sellers"),
        ("tracking", "0004_event_act_for_visitors"),
        ("recommender", "0008_merchandising"),
        ("outbox", "0001_initial"),
        ("mail", "0001_emails"),
    ]

    operations = [
        migrations.RunPython(roles_sync, migrations.RunPython.noop),
        migrations.RunPython(token_holders_keep_access, migrations.RunPython.noop),
    ]
