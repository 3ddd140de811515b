from django.shortcuts import render

from graph_auth.app_settings import app_settings


def home(request):
    context = {"emulated": app_settings.emulator_enabled, "tenant": app_settings.TENANT_ID}
    if context["emulated"]:
        from graph_auth.emulator.mount import current_emulator
        context["test_users"] = [u for u in current_emulator().directory.users.values() if u.enabled][:6]
    return render(request, "demo/home.html", context)
