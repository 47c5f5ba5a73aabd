"""The client side of API v1 for CI runners: `signoff request|status|cancel`.

Its modules import nothing but the Python standard library, so a bare interpreter on a CI
runner can run them from a checkout; the server's dependencies are never needed to ask.
"""
