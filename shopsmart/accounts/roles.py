"""The staff roles: each a group holding a set of Django permissions.

Superusers keep everything. A staff member's group decides what the admin, the dashboard and
the API let them do (dashboard.permissions names what each page and action needs). The table
is applied by a migration (`roles_sync`): to change a role, change the table and add a
migration that runs `roles_sync` again (depending on the migrations of the models it names),
so every database follows.
"""

from __future__ import annotations

from typing import Any

CRUD = ("add", "change", "delete", "view")

# Role -> (app label, model, codenames).
ROLES: dict[str, tuple[tuple[str, str, tuple[str, ...]], ...]] = {
    # Products, categories and the shop's say over the shelves.
    "Merchandiser": (
        ("catalog", "product", CRUD),
        ("catalog", "category", CRUD),
        ("recommender", "merchandisingrule", CRUD),
        ("recommender", "merchandisingsettings", ("change", "view")),
        # Experiments on the shelves: design, start, stop.
        ("recommender", "experiment", CRUD),
        ("recommender", "experimentvariant", CRUD),
        ("recommender", "experimentsurface", CRUD),
    ),
    # Figures, revenue, the evaluation's results: read only.
    "Analyst": (
        ("tracking", "event", ("view",)),
        ("catalog", "order", ("view_revenue",)),
        ("catalog", "product", ("view",)),
        ("catalog", "category", ("view",)),
        ("recommender", "evaluationrun", ("view",)),
        ("recommender", "evaluationmetric", ("view",)),
        ("recommender", "trendingscore", ("view",)),
        ("recommender", "experiment", ("view",)),
        ("recommender", "experimentvariant", ("view",)),
        ("recommender", "experimentsurface", ("view",)),
    ),
    # Pipelines, caches, the outbox, the emails and the computed tables.
    "Operator": (
        ("recommender", "pipelinerun", ("view", "run_pipelines", "flush_caches")),
        ("recommender", "trendingscore", ("view",)),
        ("recommender", "itemsimilarity", ("view",)),
        ("recommender", "contentsimilarity", ("view",)),
        ("recommender", "boughttogether", ("view",)),
        ("outbox", "outboxmessage", ("view",)),
        ("mail", "email", ("view",)),
    ),
    # Orders (cancel, ship) and customers (read only: changing a user could grant rights).
    "Support": (
        ("catalog", "order", ("view", "change")),
        ("catalog", "product", ("view",)),
        ("catalog", "review", ("view", "delete")),
        ("auth", "user", ("view",)),
    ),
    # A marketplace seller: its own products through the seller API (a SellerProfile too).
    "Seller": (("catalog", "product", ("sell",)),),
    # The account behind an API client's token that names the visitor it acts for.
    "API client": (("tracking", "event", ("act_for_visitors",)),),
}


def role_permissions(role: str) -> set[str]:
    """The role's permissions as "app_label.codename", as user.has_perm names them."""
    return {
        f"{app_label}.{_codename(action, model_name)}"
        for app_label, model_name, actions in ROLES[role]
        for action in actions
    }


def _codename(action: str, model_name: str) -> str:
    """A default action ("view") names the model's permission; a custom one is its codename."""
    return f"{action}_{model_name}" if action in CRUD else action


def roles_sync(apps: Any, schema_editor: Any = None) -> None:
    """Create each role's group with exactly its permissions (creating any permission the
    post-migrate step has not created yet, as a fresh database's first migrate needs)."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ContentType = apps.get_model("contenttypes", "ContentType")
    for role, grants in ROLES.items():
        permissions = []
        for app_label, model_name, codenames in grants:
            try:
                model = apps.get_model(app_label, model_name)
            except LookupError:
                # Not created yet at this point of the migrations: the later migration that
                # runs roles_sync again, after it, grants it.
                continue
            content_type, _ = ContentType.objects.get_or_create(
                app_label=app_label, model=model_name
            )
            declared = dict(model._meta.permissions)
            for action in codenames:
                codename = _codename(action, model_name)
                name = declared.get(codename) or f"Can {action} {model._meta.verbose_name}"
                permission, _ = Permission.objects.get_or_create(
                    content_type=content_type, codename=codename, defaults={"name": name}
                )
                permissions.append(permission)
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(permissions)
