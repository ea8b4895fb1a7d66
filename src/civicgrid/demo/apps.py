from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Holds the `demo` command that builds the Yuquan demo district. It owns no models."""

    name = "civicgrid.demo"
    label = "demo"
    verbose_name = "Demo"

    def ready(self) -> None:
        from django.conf import settings

        from civicgrid.common.scheduler import register_periodic_job

        if getattr(settings, "DEMO_SIMULATE_HEARTBEATS", True):
            # Stands in for the demo video platform so its cameras stay online while the demo
            # is served (embedded scheduler only; a no-op without the demo platform).
            from civicgrid.demo.cameras import simulate_heartbeats

            register_periodic_job(
                "demo.camera_heartbeats", simulate_heartbeats, interval_seconds=120, run_at_start=True
            )
