"""Trainers and their configurations."""
