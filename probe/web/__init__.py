"""Pure helpers on web pages and URLs shared by net/, control/ and classify/: body decoding, titles,
redirect targets. No I/O."""
