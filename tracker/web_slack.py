"""Slack's interactivity and slash-command requests, verified by their signature."""

from fastapi import APIRouter

router = APIRouter()
