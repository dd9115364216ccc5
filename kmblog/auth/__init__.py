"""The auth blueprint: views.py holds its routes."""
