"""Web benchmark (issue 9): the SMS webhook under gunicorn against a bare Flask app.

    python -m bench [--duration 10] [--connections 8] [--workers 2] [--quick]

See bench/__main__.py for the options and bench/webhook.py for what is measured.
"""
