// placeholder: hidden suite for 02
