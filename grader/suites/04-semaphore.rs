// placeholder: hidden suite for 04
