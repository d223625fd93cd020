// placeholder: hidden suite for 03
