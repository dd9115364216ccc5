"""The blog blueprint: views.py holds its routes."""
