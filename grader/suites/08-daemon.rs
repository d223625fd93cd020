// placeholder: hidden suite for 08
