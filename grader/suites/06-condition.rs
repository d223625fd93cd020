// placeholder: hidden suite for 06
