"""Streamlit pages of the app, one module per page; only `app/` knows Streamlit."""
