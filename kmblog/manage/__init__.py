"""The authoring area. Its pages come with the authoring work; its services exist now
because the demo blog and the CLI publish posts through them."""
