"""Reporters: terminal MISSION STATUS, verdict JSON, Allure; they read only the session record."""
