"""Best bets for staff at /staff/search/ (issue 22)."""

from django.urls import path

from . import views

app_name = "search_staff"
urlpatterns: list = [
    path("best-bets/", views.best_bets, name="best-bets"),
    path("best-bets/<int:pk>/remove", views.remove_best_bet, name="remove-best-bet"),
]
