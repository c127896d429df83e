"""The public web service: verification page and JSON API, transparency log and status lists,
and the development CA's CRL, OCSP and TSA. ``create_app`` builds the FastAPI application."""

from yiyin.service.web.app import create_app

__all__ = ["create_app"]
