from django.shortcuts import render
from django.views.decorators.http import require_safe


@require_safe
def home(request):
    """The service's front door: what it is and where to go. Later issues add the wizard and dashboard."""
    return render(request, "frontend/home.html")
