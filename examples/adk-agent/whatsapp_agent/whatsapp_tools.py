"""WhatsApp's message types as ADK tools.

The bridge (this repository) watches the agent's event stream: every call to one of these
tools becomes a WhatsApp message, sent in the order the agent produced it, between its
texts. The functions themselves only acknowledge, so the model knows the message is on its
way and does not repeat it in words.

Keep the names and parameters in step with the bridge: `npm test` parses this file and
compares it with what the bridge reads (shared/whatsapp/rendering/whatsAppTools.ts).
"""

from typing import Optional

from pydantic import BaseModel, Field


class Option(BaseModel):
    """One choice offered to the user."""

    title: str = Field(description="What the user sees and taps; keep it under 20 characters.")
    id: Optional[str] = Field(
        default=None,
        description="What comes back when the user taps it; made from the title when left out.",
    )
    description: Optional[str] = Field(
        default=None, description="A second line under the title (shown in lists of 4 to 10 options)."
    )


def whatsapp_buttons(
    text: str,
    options: list[Option],
    button: Optional[str] = None,
    header: Optional[str] = None,
    footer: Optional[str] = None,
) -> dict:
    """Asks the user to choose: 1 to 3 options become buttons, 4 to 10 a list, more a numbered text.

    Args:
        text: The question above the options.
        options: The choices, in order.
        button: The label of the button that opens a list (4 to 10 options).
        header: A short title above the question.
        footer: A short note under the question.
    """
    return {"status": "shown to the user", "options": len(options)}


def whatsapp_media(url: str, type: str, caption: Optional[str] = None, filename: Optional[str] = None) -> dict:
    """Sends a picture, document, audio, video or sticker that is online at a public https URL.

    Args:
        url: Public https link to the file.
        type: One of image, document, audio, video, sticker.
        caption: Text shown with an image, video or document.
        filename: The file name shown for a document.
    """
    return {"status": "sent to the user"}


def whatsapp_location(
    latitude: float, longitude: float, name: Optional[str] = None, address: Optional[str] = None
) -> dict:
    """Sends a map pin.

    Args:
        latitude: Degrees, -90 to 90.
        longitude: Degrees, -180 to 180.
        name: The place's name.
        address: The place's address.
    """
    return {"status": "sent to the user"}


def whatsapp_link(text: str, url: str, label: str) -> dict:
    """Sends a message with one button that opens a web page.

    Args:
        text: The message above the button.
        url: The page the button opens.
        label: The button's text; keep it under 20 characters.
    """
    return {"status": "sent to the user"}


def handoff_to_human(reason: Optional[str] = None) -> dict:
    """Hands the conversation to a person on the business's team; the bot stops answering this user.

    Args:
        reason: Why a person is needed, for the team.
    """
    return {"status": "a person from the team will continue this conversation"}
