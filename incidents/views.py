from django.shortcuts import render


def dashboard(request):
    """The agent's start page. The incident playbook fills it in; for now it greets the agent."""
    return render(request, "incidents/dashboard.html")
