from __future__ import annotations

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User


class SignupForm(UserCreationForm[User]):
    email = forms.EmailField(label="Email", help_text="For your order confirmations.")
    first_name = forms.CharField(label="First name", max_length=150, required=False)

    class Meta:
        model = User
        fields = ("username", "email", "first_name")

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"]
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this email already exists: sign in.")
        return email
