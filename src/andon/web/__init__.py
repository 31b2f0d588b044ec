"""The dashboard: server-rendered pages for PMs and reviewers, served by ``andon serve`` beside the API.

See ``README.md`` in this folder for how to add a page.
"""
