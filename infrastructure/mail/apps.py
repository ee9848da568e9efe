from django.apps import AppConfig


class MailConfig(AppConfig):
    """Email the shop sends: stored with the work that causes it, sent by a task."""

    name = "infrastructure.mail"
    label = "mail"
