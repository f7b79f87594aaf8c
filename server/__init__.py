"""ONAIR server: composition root and shared infrastructure."""
