"""Load generation on Locust: users that invoke Lambda functions and turn each call into a record.

Import Locust before boto3 wherever both are used (gevent must patch sockets first), so this
package imports ``locust`` in its modules before anything that pulls in botocore.
"""
