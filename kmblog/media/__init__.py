"""Uploaded images: checking and storing them, their variants, the media library."""
