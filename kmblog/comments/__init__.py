"""The comments blueprint: views.py holds its routes."""
