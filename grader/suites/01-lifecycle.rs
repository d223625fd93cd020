// placeholder: hidden suite for 01
