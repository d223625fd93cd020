// placeholder: hidden suite for 09
