"""Open311 GeoReport v2 at /open311/v2/ (see docs/open311.md)."""
