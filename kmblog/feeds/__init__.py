"""The feeds blueprint: views.py holds its routes."""
