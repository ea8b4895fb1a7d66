from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Holds the `demo` command that builds the Yuquan demo district. It owns no models."""

    name = "civicgrid.demo"
    label = "demo"
    verbose_name = "Demo"
