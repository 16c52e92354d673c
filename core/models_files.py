"""Attachments: files on records of any kind, kept by a file storage."""

from __future__ import annotations
