"""Helpers shared by tests: loopback receivers and workspace builders."""
