"""What search engines are told: the sitemap of every address a reader may open, and
robots.txt, which names it and keeps crawlers out of the authoring area."""
