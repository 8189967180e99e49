"""The consoles of the hotline's staff (Streamlit, in Vietnamese): operator, editor, supervisor.

They talk to the answer service over HTTP only (``agent_assist_ui.client``), so they can run on
another machine and hold no data; ``streamlit run agent_assist_ui/app.py`` starts them.
"""
