"""Standalone pages in the authoring area: write, publish, order and delete /p/slug.html."""
