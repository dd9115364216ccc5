"""Series ("Part 2 of 5"): named runs of posts in the authors' order. Readers get a page
and a feed for each series (kmblog/blog, kmblog/feeds); authors make, rename, order and
delete them here, and put a post into one from the post editor."""
