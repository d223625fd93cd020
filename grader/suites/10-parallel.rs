// placeholder: hidden suite for 10
