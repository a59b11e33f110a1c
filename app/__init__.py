"""The faces of Winnow: the CLI, the Streamlit pages and the run registry."""
